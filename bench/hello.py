"""The yardstick of bench/pages.py: a bare Flask hello-world, served by the same
gunicorn settings as shooc, so that a page's requests/s can be given as a fraction
of what Flask behind gunicorn does on the machine at all."""
from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello() -> str:
    return "Hello, World!"
