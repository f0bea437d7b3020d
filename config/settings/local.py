from .base import *  # noqa: F401,F403
from .base import env

# No live link to the national platforms in development and the demo: a
# stand-in answers duplicate checks at once from the national records.
NATIONAL_LINK = env.str("NATIONAL_LINK", default="loopback")
