from django.urls import path

from safehub.people import views

app_name = "people"

urlpatterns = [
    path("reviews/", views.review_queue_view, name="review_queue"),
    path("reviews/<int:review_id>/", views.review_detail_view, name="review_detail"),
    path("<uuid:person_id>/", views.person_detail_view, name="person_detail"),
    path("<uuid:person_id>/merge/", views.person_merge_view, name="person_merge"),
    path("merges/<int:merge_id>/undo/", views.merge_undo_view, name="merge_undo"),
]
