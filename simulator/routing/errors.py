"""The one error routing raises: the routing state cannot be read or makes no sense."""


class RoutingError(Exception):
    """Raised when the router objects are missing, unserved or malformed."""
