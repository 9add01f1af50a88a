"""The loopback allow-list the tests' local servers are reached through: pressbot refuses
private addresses by default (bot/net), so every test that fetches from 127.0.0.1 says so,
as a newsroom with a CMS on its LAN would (PRESSBOT_ALLOWED_PRIVATE_NETWORKS)."""

from bot.net.policy import OutboundPolicy

LOCAL_NETWORKS = "127.0.0.0/8, ::1"
LOCAL_POLICY = OutboundPolicy.from_setting(LOCAL_NETWORKS)
