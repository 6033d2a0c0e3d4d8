"""The only code that speaks HTTP to Zoho CRM: the ZohoCrm port, its client and its fake."""

from .client import ZohoCrmClient
from .concurrency import EDITION_CONCURRENCY, LocalSlots, Slots, worker_share
from .credits import CreditMeter
from .datacentres import DATA_CENTRES, DataCentre, accounts_server
from .errors import (
    AuthenticationFailed,
    ConfigurationError,
    DuplicateRecord,
    RateLimited,
    RecordError,
    RecordInvalid,
    RecordLocked,
    RequestRejected,
    SchemaMismatch,
    ScopeMissing,
    ServerError,
    TransportFailed,
    ZohoError,
    ZohoFatal,
    ZohoRetriable,
)
from .oauth import SCOPES, Grant, OAuthApp, ZohoAccounts
from .port import ZohoCrm
from .retry import RetryPolicy
from .timestamps import format_datetime, parse_datetime
from .tokens import AccessToken, Cipher, InMemoryTokenStore, PlainText, TokenStore
from .wire import (
    BulkReadJob,
    Channel,
    CoqlPage,
    Currency,
    DeletedRecord,
    Field,
    Module,
    Org,
    Record,
    User,
    WriteFailure,
    WriteResult,
    WriteSuccess,
)
from .written import when_written

__all__ = [
    "DATA_CENTRES",
    "EDITION_CONCURRENCY",
    "SCOPES",
    "AccessToken",
    "AuthenticationFailed",
    "BulkReadJob",
    "Channel",
    "Cipher",
    "ConfigurationError",
    "CoqlPage",
    "CreditMeter",
    "Currency",
    "DataCentre",
    "DeletedRecord",
    "DuplicateRecord",
    "Field",
    "Grant",
    "InMemoryTokenStore",
    "LocalSlots",
    "Module",
    "OAuthApp",
    "Org",
    "PlainText",
    "RateLimited",
    "Record",
    "RecordError",
    "RecordInvalid",
    "RecordLocked",
    "RequestRejected",
    "RetryPolicy",
    "SchemaMismatch",
    "ScopeMissing",
    "ServerError",
    "Slots",
    "TokenStore",
    "TransportFailed",
    "User",
    "WriteFailure",
    "WriteResult",
    "WriteSuccess",
    "ZohoAccounts",
    "ZohoCrm",
    "ZohoCrmClient",
    "ZohoError",
    "ZohoFatal",
    "ZohoRetriable",
    "accounts_server",
    "format_datetime",
    "parse_datetime",
    "when_written",
    "worker_share",
]
