"""`python run.py` starts the development server; `run:app` is the WSGI
application for gunicorn."""
import os

from app import create_app

app = create_app()

if __name__ == "__main__":
    from app.jobs import start_scheduler

    # The reloader runs this file twice; the scheduler belongs to the child.
    if os.environ.get("FLASK_DEBUG") != "1" or os.environ.get("WERKZEUG_RUN_MAIN"):
        start_scheduler(app)
    app.run(
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "5000")),
        debug=os.environ.get("FLASK_DEBUG") == "1",
    )
