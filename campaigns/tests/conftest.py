from campaigns.tests.fixtures import member_client  # noqa: F401
