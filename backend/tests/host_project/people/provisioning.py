from .models import Person


def person_for_identity(*, subject: str, email: str, name: str) -> Person:
    """The host's own USER_FACTORY (one contract test points the app at it)."""
    return Person.objects.create_user(email or f"{subject}@identities.invalid",
                                      display_name=name[:100])
