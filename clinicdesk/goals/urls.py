from django.urls import path

from . import views

app_name = "goals"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("report.pdf", views.report_pdf, name="report_pdf"),
    path("objectives/", views.objective_list, name="objective_list"),
    path("objectives.csv", views.objective_export, name="objective_export"),
    path("objectives/new", views.objective_new, name="objective_new"),
    path("objectives/<int:objective_id>/", views.objective_detail, name="objective_detail"),
    path("objectives/<int:objective_id>/edit", views.objective_edit, name="objective_edit"),
    path("objectives/<int:objective_id>/key-results/new", views.key_result_new, name="key_result_new"),
    path("key-results/<int:key_result_id>/edit", views.key_result_edit, name="key_result_edit"),
    path("key-results/<int:key_result_id>/delete", views.key_result_remove, name="key_result_delete"),
    path("kpis/", views.kpi_list, name="kpi_list"),
    path("kpis/<slug:kpi_code>/", views.kpi_rows, name="kpi_rows"),
    path("kpis/<slug:kpi_code>/rows.csv", views.kpi_rows_export, name="kpi_rows_export"),
]
