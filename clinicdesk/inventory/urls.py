from django.urls import path

from . import purchasing_views, views

app_name = "inventory"

urlpatterns = [
    path("", views.item_list, name="item_list"),
    path("items/new/", views.item_create, name="item_create"),
    path("items/import/", views.item_import, name="item_import"),
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

urlpatterns += [
    path("orders/", purchasing_views.order_list, name="order_list"),
    path("orders/suggested/", purchasing_views.order_suggestions, name="order_suggestions"),
    path("orders/new/", purchasing_views.order_create, name="order_create"),
    path("orders/<int:purchase_order_id>/", purchasing_views.order_detail, name="order_detail"),
    path("orders/<int:purchase_order_id>/edit/", purchasing_views.order_edit, name="order_edit"),
    path("orders/<int:purchase_order_id>/submit/", purchasing_views.order_submit, name="order_submit"),
    path("orders/<int:purchase_order_id>/approve/", purchasing_views.order_approve, name="order_approve"),
    path("orders/<int:purchase_order_id>/send/", purchasing_views.order_send, name="order_send"),
    path("orders/<int:purchase_order_id>/receive/", purchasing_views.order_receive, name="order_receive"),
    path("orders/<int:purchase_order_id>/close/", purchasing_views.order_close, name="order_close"),
    path("orders/<int:purchase_order_id>/cancel/", purchasing_views.order_cancel, name="order_cancel"),
    path("orders/<int:purchase_order_id>/bill/", purchasing_views.order_bill, name="order_bill"),
    path("orders/<int:purchase_order_id>/pdf/", purchasing_views.order_pdf, name="order_pdf"),
    path("locations/", purchasing_views.stock_location_list, name="stock_location_list"),
    path("locations/new/", purchasing_views.stock_location_create_view, name="stock_location_create"),
    path("locations/<int:stock_location_id>/edit/", purchasing_views.stock_location_edit, name="stock_location_edit"),
]
