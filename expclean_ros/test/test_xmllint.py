# Copyright 2026 expclean contributors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""ament_xmllint over both package.xml files and the shipped XML; manifests and changelogs."""

import os
import shutil
import subprocess

from catkin_pkg.changelog import get_changelog_from_path
from catkin_pkg.package import parse_package
from helpers.lint_targets import MANIFESTS, XML_FILES
import pytest
from helpers import rosproc

# package.xml names its schema by URL (REP 149): xmllint fetches it, unless a catalog has it.
SCHEMA_URL = 'http://download.ros.org/schema/package_format3.xsd'


def _needs_xmllint(test):
    for mark in (pytest.mark.skipif(not rosproc.installed('ament_xmllint'),
                                    reason=rosproc.not_installed('ament_xmllint')),
                 pytest.mark.skipif(shutil.which('xmllint') is None,
                                    reason='no xmllint command (the Debian/Ubuntu package '
                                           'libxml2-utils; make test installs it as root)'),
                 pytest.mark.xmllint, pytest.mark.linter):
        test = mark(test)
    return test


def _xmllint(paths):
    from ament_xmllint.main import main
    return main(argv=list(paths))


@_needs_xmllint
def test_xmllint_launch_files_and_profile():
    assert _xmllint(XML_FILES) == 0, 'Found invalid XML'


@_needs_xmllint
def test_xmllint_package_manifests(capfd):
    rc = _xmllint(MANIFESTS)
    out = capfd.readouterr()
    if rc != 0 and f'failed to load external entity "{SCHEMA_URL}"' in out.err:
        # the manifests are checked as XML all the same, and as format 3 by the test below
        assert _xmllint_well_formed(MANIFESTS), out.err
        pytest.skip(f'the package.xml schema ({SCHEMA_URL}) cannot be loaded here: no network '
                    'and no XML catalog entry for it; well-formed checked only')
    assert rc == 0, out.out + out.err


def _xmllint_well_formed(paths):
    return subprocess.run([shutil.which('xmllint'), '--noout', '--nonet', *paths],
                          capture_output=True, timeout=60).returncode == 0


@pytest.mark.linter
@pytest.mark.parametrize('manifest', MANIFESTS, ids=lambda p: p.split('/')[-2])
def test_package_manifest_is_valid_format_3(manifest):
    """catkin_pkg, which colcon and bloom read package.xml with, finds nothing to warn about."""
    warnings = []
    package = parse_package(manifest, warnings=warnings)
    assert package.package_format == 3
    assert warnings == []


@pytest.mark.filterwarnings('ignore:nodes.Node.traverse:DeprecationWarning')  # catkin_pkg's
@pytest.mark.parametrize('manifest', MANIFESTS, ids=lambda p: p.split('/')[-2])
def test_changelog_names_the_package_version(manifest):
    """CHANGELOG.rst beside package.xml parses as catkin_pkg's and has its version first."""
    package = parse_package(manifest)
    changelog = get_changelog_from_path(os.path.join(os.path.dirname(manifest), 'CHANGELOG.rst'),
                                        package.name)
    assert changelog is not None
    versions = [version for version, _date, _content in changelog.foreach_version()]
    assert versions[:1] == [package.version]
