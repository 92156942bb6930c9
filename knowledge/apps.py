from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    name = "knowledge"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from clinics import extensions

        from . import selectors

        # The phone agent asks the knowledge base through the kernel (telephony may not import knowledge).
        extensions.register_knowledge_answer(selectors.answer_for_agent)
