"""``expclean_ros.client``: the rclpy client for cleanup nodes (the code is in ros/client.py)."""

from .ros.client import CleanupClient, ClientError, LATCHED_QOS, SERVICE_QOS

__all__ = ['CleanupClient', 'ClientError', 'LATCHED_QOS', 'SERVICE_QOS']
