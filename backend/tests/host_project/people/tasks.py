from celery import shared_task

from .models import Person


@shared_task(name="people.count")
def people_count() -> int:
    return Person.objects.count()
