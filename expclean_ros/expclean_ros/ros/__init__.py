"""The ROS side: the cleanup node, its parameters, monitor, messages, QoS and client."""
