"""What the AccountingSuite sandbox says when it refuses a request.

Three sources, marked on each line:
  doc      verbatim from the API document's error examples (shape included);
  service  the service's own wording for cases the document does not show, as its published source has
           it (github.com/EDV-Lotsen/1C-AccountingSuite, module ApiWebServices), written the way the
           document writes its messages ("[field] : Sentence.", without the source's padding spaces);
  sandbox  our wording, where neither says anything (kept in the same style).
An application error is answered with HTTP 200 and ``{"status": "error", "message": ...}``, as the
document shows; only authentication, unknown paths, wrong methods and unreadable bodies are HTTP errors.
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """Raised by a handler; answered as ``payload`` with ``status`` (200 for the service's own refusals)."""

    def __init__(self, payload: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None):
        super().__init__(payload.get("message") or payload.get("message1"))
        self.payload = payload
        self.status = status
        self.headers = headers or {}


def refuse(message: str, **extra: Any) -> ServiceError:
    return ServiceError({"message": message, "status": "error", **extra})


def deleted(message: str) -> dict[str, str]:
    return {"message": message, "status": "success"}


# --- documented ---
COMPANY_EXISTS = "[company_name] : The company already exists."  # doc
ADDRESS_ID_REQUIRED = "[address.address_id] : This is required to create a new address."  # doc (message1)
ADDRESS_API_CODE_REQUIRED = "[address.api_code] : This is required to update an existing address."  # doc
CATEGORY_UNKNOWN = (
    "[item_category] : The category does not exist. You must create the item category first."  # doc
)
ITEM_TYPE_FIXED = "[item_type] : Cannot change the item type."  # doc
ITEM_LINKED = "Failed to delete. There are linked objects to this item."  # doc
SHIP_TO_NOT_OWN = "[ship_to_api_code] : Shipping Address does not belong to the Company."  # doc

# --- the service's own ---
COMPANY_LINKED = "Failed to delete. There are linked objects to this company."  # service
COMPANY_CODE_FIXED = (
    "[company_code] : Cannot manually specify this. Accounting Suite automatically generates it."  # service
)
COMPANY_TYPE_BAD = "[company_type] : Please enter customer, vendor, or customer+vendor."  # service
PRICE_LEVEL_UNKNOWN = "[price_level] : This does not exist. You must create the price level first."  # service
ADDRESS_UNKNOWN = "[address.api_code] : The address does not exist."  # service
ADDRESS_ID_TAKEN = "[address.address_id] : The address id already exists. It must be unique."  # service
ITEM_EXISTS = "[item_code] : The item already exists. Not a unique item code."  # service
ITEM_TYPE_BAD = "[item_type] : This is a required field. Must be either product or service."  # service
UNIT_UNKNOWN = (
    "[unit_of_measure] : This does not exist. You must create the unit of measure first."  # service
)
BILL_TO_NOT_OWN = "[bill_to_api_code] : Billing Address does not belong to the Company."  # service
PURCHASE_ADDRESS_NOT_OWN = "[address_api_code] : Purchase Address does not belong to the Company."  # service
DROPSHIP_ADDRESS_NOT_OWN = (
    "[ds_address_api_code] : Dropship Address does not belong to the Company."  # service
)
LINES_REQUIRED = "[lines] : Must enter at least one line with correct line items."  # service
DOC_TOTAL_MISMATCH = "[doc_total] : The document total and sum of lineitem totals are not equal."  # service
PROJECT_UNKNOWN = "[project] : The project does not exist."  # service
CLASS_UNKNOWN = "[class] : The class does not exist."  # service
INVOICE_POSTED = (
    "Failed to delete. Invoice must be unposted before deletion and/or other objects are linked "
    "to this sales invoice."
)  # service
CASH_SALE_POSTED = (
    "Failed to delete. Cash Sale must be unposted before deletion and/or other objects are "
    "linked to this cash sale."
)  # service


def required(field: str) -> str:  # service
    return f"[{field}] : This is a required field."


def not_found(what: str) -> str:  # service
    return f"[api_code] : The {what} does not exist. Double check that the ID# is correct."


def customer_unknown(field: str = "customer_api_code") -> str:  # service
    return f"[{field}] : The customer does not exist."


def bad_date(field: str) -> str:  # service
    return f"[{field}] : Date must be in the format of YYYY-MM-DD."


def duplicate_address_id(position: int) -> str:  # service
    return f"[address_id({position})] : Address ID must be unique. Cannot enter identical address IDs."


def several_defaults(which: str, position: int) -> str:  # service; which: "billing" or "shipping"
    return f"[default_{which}({position})] : Cannot have multiple addresses be set to default {which}."


def no_default(which: str) -> str:  # sandbox: the document says a company has exactly one of each
    return f"[default_{which}] : A company has to have exactly one default {which} address."


def line_item_unknown(position: int) -> str:  # service
    return f"[line_items({position}).api_code] : Item does not exist."


def line_required(position: int, field: str) -> str:  # service
    return f"[line_items({position}).{field}] : This is a required field for lines."


def line_total_mismatch(position: int) -> str:  # service
    return f"[line_items({position}).line_total] : Line item's total does not match quantity * price."


def not_a_number(field: str) -> str:  # sandbox
    return f"[{field}] : This must be a number."


def address_id_taken(field: str) -> str:  # sandbox, in the service's words for the same clash
    return f"[{field}] : The address id already exists. It must be unique."


def auth_error(message: str) -> ServiceError:  # sandbox: the document shows no authentication failure
    return ServiceError({"message": message, "status": "error"}, status=401)


KEY_MISSING = (
    "[apisecretkey] : Missing the apisecretkey. Send it in the apisecretkey header "
    "or as Authorization: Bearer."
)  # sandbox
KEY_INVALID = "[apisecretkey] : The apisecretkey is not valid."  # sandbox
BODY_NOT_JSON = "[request] : The request body is not valid JSON."  # sandbox
METHOD_NOT_ALLOWED = "[method] : This method is not allowed here."  # sandbox
NO_SUCH_PATH = "[path] : There is no such resource."  # sandbox
