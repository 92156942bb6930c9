"""Demo data for `manage.py seed_demo`: the demo clinic's own number, verified, so that replies to it route to
the demo clinic with the local SMS backend, offline (telephony/numbers.py)."""


def seed_messaging_number(seed):
    from telephony.numbers import messaging_number_seed

    if seed.clinic.phone:
        messaging_number_seed(clinic=seed.clinic, phone=seed.clinic.phone)
        seed.say(f"Messaging number: {seed.clinic.phone} (verified, demo)")


SEED_STEPS = [seed_messaging_number]
