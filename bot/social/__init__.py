"""Publishers: one thin adapter per platform (x, mastodon, bluesky, telegram) and an outbox,
all behind the small interface in `base`."""
