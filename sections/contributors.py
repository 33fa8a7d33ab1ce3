"""Contributors: everyone who signs up is one; imported people are too, without an account."""

from __future__ import annotations

from allauth.account.signals import user_signed_up
from django.contrib.auth.models import AbstractBaseUser
from django.dispatch import receiver
from django.http import HttpRequest

from sections.models import Contributor


def for_user(user: AbstractBaseUser) -> Contributor:
    """The user's contributor record, made on first need."""
    contributor = Contributor.objects.filter(user=user).first()
    if contributor is None:
        name = user.get_full_name() or user.get_username().split("@")[0]
        contributor = Contributor.objects.create(user=user, display_name=name)
    return contributor


@receiver(user_signed_up)
def make_contributor_on_sign_up(
    sender: object, *, request: HttpRequest, user: AbstractBaseUser, **kwargs: object
) -> None:
    for_user(user)
