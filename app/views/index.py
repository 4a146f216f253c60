from flask_appbuilder import IndexView


class SdelkaIndexView(IndexView):
    index_template = "sdelka/index.html"
