"""Line parsing: envelope (syslog header, timestamp) → pattern-pack rule → typed ECS event."""
