from django.apps import AppConfig


class SectionsConfig(AppConfig):
    name = "sections"
    verbose_name = "Manuscript"

    def ready(self) -> None:
        # allauth hooks: the one place signals are the right tool (a decoupled app).
        from sections import contributors  # noqa: F401
