from django.urls import path

from . import views

app_name = "inventory"

urlpatterns = [
    path("", views.item_list, name="item_list"),
    path("items/new/", views.item_create, name="item_create"),
    path("items/<int:stock_item_id>/", views.item_detail, name="item_detail"),
    path("items/<int:stock_item_id>/edit/", views.item_edit, name="item_edit"),
    path("items/<int:stock_item_id>/packs/", views.item_pack_add, name="item_pack_add"),
    path("items/<int:stock_item_id>/levels/", views.item_level_set, name="item_level_set"),
    path("on-hand/", views.on_hand, name="on_hand"),
    path("gtin/", views.gtin_lookup, name="gtin_lookup"),
    path("receive/", views.receive, name="receive"),
    path("use/", views.use, name="use"),
    path("transfer/", views.transfer, name="transfer"),
    path("remove/", views.remove, name="remove"),
    path("count/<int:stock_location_id>/", views.cycle_count, name="cycle_count"),
    path("alerts/", views.alerts, name="alerts"),
    path("recall/", views.lot_recall, name="lot_recall"),
]
