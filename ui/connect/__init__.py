"""Connect: the dialog that adds a connection to a service (``dialog``), the services it can reach
(``services``), the list to choose one (``service_list``) and the sign-in forms (``forms``)."""

from ui.connect.dialog import ConnectDialog
from ui.connect.services import ServiceDirectory

__all__ = ["ConnectDialog", "ServiceDirectory"]
