"""The project's own number and date formats, over Django's (settings.FORMAT_MODULE_PATH): only what differs.

Django's `pt` formats (which pt-PT falls back to) group thousands with ".", as Brazil does; Portugal, like France,
groups them with a space (the no-break space U+00A0, so an amount never breaks across lines): "1 234,50 €".
clinics.money formats money with these and reads back what it shows.
"""
