"""Flask-AppBuilder's own strings that the app's catalogue translates.

FAB's Russian catalogue lacks its newer strings (groups, Select2's
placeholder, filter operators) and words some wrongly («подтверждение
пользователя требуется», «Попытка аторизации не удалась», «Отношение»).
Flask-Babel merges FAB's catalogue first and the app's after it, so the
app's translation of a msgid wins (tests/web/test_crawl_russian.py checks
the screens). Listing the msgids here keeps them in the app's catalogue
through `make messages`; nothing calls this module."""


def N_(msgid):
    return msgid


FAB_MESSAGES = (
    # Missing from FAB's Russian catalogue.
    N_("Add"),
    N_("Add Group"),
    N_("Contains (insensitive)"),
    N_("Database Error"),
    N_("Edit Group"),
    N_("Edit User Information"),
    N_("Either select a role or a group"),
    N_("Groups"),
    N_("In"),
    N_("List Groups"),
    N_("Not In"),
    N_("Not a valid choice"),
    N_("Select Value"),
    N_("Show Group"),
    N_("Start with"),
    N_("The user's password for authentication"),
    N_("User information changed"),
    N_("User(s) exists in the group, cannot delete"),
    N_("User(s) exists in the role, cannot delete"),
    N_("Order by"),
    N_("Sign in using:"),
    N_("OK"),
    # Translated wrongly or clumsily there.
    N_("User confirmation needed"),
    N_("Invalid login. Please try again."),
    N_("Relation"),
    N_("No Relation"),
    N_("Relation as Many"),
    N_("Added Row"),
    N_("Changed Row"),
    N_("Deleted Row"),
    N_("Associated data exists, please delete them first"),
    N_("Copy Role"),
    N_("Copy the selected roles?"),
    N_("Ends with"),
    N_("Failed login count"),
    N_("Page size"),
    N_("Permission"),
    N_("Profile"),
    N_("View/Menu"),
    N_("Views/Menus"),
    N_("Write the user first name or names"),
    N_("Write the user last name"),
    N_("The user's email, this will also be used for OID auth"),
    N_("Username valid for authentication on DB or LDAP, unused for OID auth"),
    N_("The user role on the application, this will associate with a list of permissions"),
    N_("Please rewrite the password to confirm"),
    N_("Reset Password Form"),
    N_("Account activation"),
    N_("Add Base Permission"),
    N_("Edit Base Permission"),
    N_("Add View Menu"),
    N_("Edit View Menu"),
    N_("Count of"),
    N_("Avg. of"),
    # The group screen's columns (FAB leaves them untranslated).
    N_("Label"),
    N_("Description"),
    N_("Roles"),
    N_("Users"),
)
