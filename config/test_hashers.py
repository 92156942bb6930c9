"""The password hasher of the test settings (config/settings/test.py): production's algorithm, Argon2id, with the
cheapest parameters it accepts, so that creating users and signing in costs microseconds in tests. Never used
outside the test settings."""
from django.contrib.auth.hashers import Argon2PasswordHasher


class QuickArgon2PasswordHasher(Argon2PasswordHasher):
    time_cost = 1
    memory_cost = 64
    parallelism = 1
