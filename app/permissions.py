"""The names permissions are granted by: the roles, the row rule's
permission and the dictionary screens. The screens register under these
names (app/views/), the roles are granted them (app/security.py); nothing
here imports a view, so jobs and commands that ask about roles reach no
screen."""

ADMIN = "Admin"
HEAD_OF_SALES = "Head of sales"
MANAGER = "Manager"
READ_ONLY = "Read-only"
ROLES = (ADMIN, HEAD_OF_SALES, MANAGER, READ_ONLY)

# Row-level rule: without it a manager sees only own and public clients.
ALL_CLIENTS = ("can_access_all", "Clients")
# A user restricted to own records who may still give records (and tasks)
# to the active colleagues of their department; whoever has ALL_CLIENTS
# gives them to anyone.
ASSIGN_COLLEAGUES = ("can_assign_colleagues", "Clients")

# (view class, menu name, icon) of each dictionary screen, in menu order.
# The menu names are permission names too: unique in the application and
# in English.
DICTIONARY_SCREENS = (
    ("TaskTypeView", "Task types", "fa-sitemap"),
    ("TaskStatusView", "Task statuses", "fa-flag"),
    ("ClientStatusView", "Client statuses", "fa-user-circle"),
    ("ClientTypeView", "Client types", "fa-users"),
    ("ClientGroupView", "Client groups", "fa-object-group"),
    ("ClientOriginView", "Client origins", "fa-compass"),
    ("MarketSegmentView", "Market segments", "fa-pie-chart"),
    ("FunnelStageView", "Funnel stages", "fa-filter"),
    ("LoanPurposeView", "Loan purposes", "fa-credit-card"),
    ("RegionView", "Regions", "fa-map-marker"),
    ("ProductView", "Products and services", "fa-cube"),
    ("TaxView", "Taxes", "fa-percent"),
    ("CurrencyView", "Currencies", "fa-money"),
    ("TagView", "Tags", "fa-tag"),
    ("RefusalReasonView", "Refusal reasons", "fa-ban"),
    ("ActionTypeView", "Action types", "fa-bolt"),
    ("ActionResultView", "Action results", "fa-check-square-o"),
    ("MailingTypeView", "Mailing types", "fa-envelope"),
)
DICTIONARY_CATEGORY = "Dictionaries"
# Everything a role's permissions name for the dictionary screens.
DICTIONARY_PERMISSIONS = frozenset(
    [view for view, _, _ in DICTIONARY_SCREENS] + [name for _, name, _ in DICTIONARY_SCREENS]
    + [DICTIONARY_CATEGORY])
