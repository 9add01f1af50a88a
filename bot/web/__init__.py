"""The web app: editors' dashboard, public pages, JSON API and webhooks."""
