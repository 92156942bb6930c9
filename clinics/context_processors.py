def active_clinic(request):
    """The clinic the signed-in member is working in, and the others they may switch to."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    memberships = list(user.memberships.select_related("clinic").order_by("clinic__name"))
    active_id = request.session.get("clinic_id")
    active = next((m for m in memberships if str(m.clinic_id) == active_id), memberships[0] if memberships else None)
    return {"active_membership": active, "active_clinic": active.clinic if active else None,
            "memberships": memberships}
