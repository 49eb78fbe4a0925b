"""expclean core: plain Python, no rclpy.

Memory probes, process teardown, cleanup steps, settling and plans. Every
step returns a :class:`StepResult`; nothing here prints or imports rclpy.
"""
