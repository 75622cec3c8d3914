"""The web playground's static files (``static/``), served by ``openreel.api.playground``."""
