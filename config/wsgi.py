import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
application = get_wsgi_application()

# What the start-up loaded (settings, URL patterns, models, translations) lives
# as long as the process: moved out of the cyclic collector's reach, a full
# collection no longer walks it and stalls a request for tens of milliseconds.
gc.collect()
gc.freeze()
