"""The attendance service of video consultations (docs/api/video.md), mounted at /attendance-service/ on the dashboard
surface's conventions, and the join page of the offline video backend."""
from django.urls import path

from . import video

urlpatterns = [
    path("referrals/<str:referral_id>/meetings/<str:meeting_id>/user", video.ReferralMeetingUser.as_view(),
         name="attendance-referral-meeting-user"),
    path("video/join/<str:token>", video.local_join, name="video-local-join"),
]
