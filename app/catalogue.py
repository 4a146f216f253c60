"""The request's catalogue of translations, looked up once.

flask_babel finds the catalogue again for every string it translates: the
request's context read three times and the locale's name built anew for
its cache key, 20-25 µs a string, and a list page translates two to three
hundred (its labels, buttons, filters and menu), some 5 ms of processor a
page. Here the catalogue is kept in the request's context under the name
flask_babel's own ``refresh()`` and ``force_locale()`` clear and restore
(``babel_translations``), so a change of language within a request is
still seen at once."""
from flask_babel import Domain
from flask_babel import _get_current_context as babel_context


class RequestCatalogue(Domain):
    def get_translations(self):
        context = babel_context()
        if context is None:
            return super().get_translations()
        found = getattr(context, "babel_translations", None)
        if found is None:
            found = context.babel_translations = super().get_translations()
        return found


def install(babel):
    """Make the app's default domain (flask_babel's ``Babel``) keep its catalogue."""
    babel.domain_instance = RequestCatalogue(domain=babel.domain)
