"""The `shipper` commands, one module each; common.py holds what they share."""
