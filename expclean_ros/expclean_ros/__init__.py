"""expclean_ros: clean machine state between repeated ROS 2 experiment runs."""

__version__ = '0.1.0'
