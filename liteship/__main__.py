from liteship.app.cli import entry

entry()
