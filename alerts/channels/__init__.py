"""Delivery channels: small classes behind one interface (:class:`alerts.channels.base.Channel`).

Another channel is one module here with a ``Channel`` subclass registered in ``CHANNELS``."""
