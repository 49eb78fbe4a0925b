# expclean: two commands on a fresh machine.
#   make run    set up the local ROS 2 environment (first time: ~1 min) and start the cleanup node
#   make test   the same set-up, then the whole test suite
# ROS_DISTRO=jazzy selects the Jazzy wheels (a separate environment, .venv-jazzy).
# ROS_DISTRO=humble, for this repository's tests only: Humble's launch, launch_ros and ros2cli
# (from ../shared/upstream) over the Jazzy wheels, in .venv-humble (no Humble wheels exist; launch
# is pure Python): the launch API Humble users have. `make test-launch ROS_DISTRO=humble` runs the
# tests that need launch. Without ../shared/upstream it stops at once and says so; Humble users
# build expclean in a colcon workspace (README).

ROS_DISTRO ?= kilted
VENV ?= .venv-$(ROS_DISTRO)
PY := $(VENV)/bin/python

# DDS discovery stays on this machine; pick your own domain with ROS_DOMAIN_ID=N.
export ROS_AUTOMATIC_DISCOVERY_RANGE := LOCALHOST
export ROS_DOMAIN_ID ?= 0
export AMENT_PREFIX_PATH := $(abspath $(VENV))
export ROS_DISTRO

# Tests use a domain of their own so they never meet a running node.
TEST_DOMAIN ?= 87
PYTEST_ARGS ?= -rs

.PHONY: setup run test test-launch test-all bench clean

# The venv with the ROS 2 wheels, expclean_interfaces built with rosidl, expclean_ros; and, when
# ../shared/upstream sits beside the checkout (as in CI), the upstream ros2 CLI and launch.
setup:
	@bash scripts/setup_env.sh $(VENV)

# Root is needed only for drop_caches (and a GPU reset, off by default); as a normal user that
# step is skipped with the reason. As root the node refuses hooks unless hooks.allow_as_root.
# The node looks at the graph before it serves: another node of its name (a second make run)
# keeps serving, this one exits with an error saying how to give it a namespace.
run: setup
	exec $(VENV)/bin/cleanup_node $(ARGS)

# Each test runs in a worker process under a watchdog (a test that hangs, even inside a C
# call, fails with every thread's stack and a fresh worker runs the rest); the whole suite
# has an upper bound too.
TEST_LIMIT ?= 20m
# Two workers side by side, each on a ROS domain of its own (conftest.py): most tests wait on
# processes and discovery, not on a core.
TEST_WORKERS ?= 2
# The Debian packages only tests use (Chromium, Slurm + munge) come with make test, not make run.
test: export EXPCLEAN_TEST_DEPS := 1
test: setup
	@ROS_DOMAIN_ID=$(TEST_DOMAIN) timeout --foreground -k 30s $(TEST_LIMIT) \
	  $(PY) -m pytest expclean_ros/test -p xdist -n $(TEST_WORKERS) $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc = 124 ]; then echo "make test: the suite ran past $(TEST_LIMIT)" >&2; fi; exit $$rc

# Only the tests that need launch (marker `launch`: launch files, actions, ros2 launch).
test-launch: PYTEST_ARGS += -m launch
test-launch: test

test-all:
	$(MAKE) test ROS_DISTRO=kilted
	$(MAKE) test ROS_DISTRO=jazzy TEST_DOMAIN=88

bench: setup
	ROS_DOMAIN_ID=$(TEST_DOMAIN) $(PY) bench/run_all.py

clean:
	rm -rf .venv-kilted .venv-jazzy .venv-humble build install log
