"""shipper: mail-server logs and mail queues into the Elastic Stack."""

__version__ = "0.1.0"
