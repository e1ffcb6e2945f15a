import pytest

from clinicdesk.core.choices import Role
from clinicdesk.inventory.assets.choices import TicketStatus
from clinicdesk.inventory.assets.models import Asset

from .factories import AssetFactory, TicketFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(make_user):
    return make_user(Role.OFFICE_MANAGER, username="priya")


def test_create_list_and_read_an_asset(client_as, manager, org):
    client = client_as(manager)
    response = client.post("/api/v1/assets/", {"tag": "NET-1", "name": "Core switch", "kind": "network",
                                               "purchase_cost": "1200.00"}, content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["purchase_cost"] == "1200.00" and body["kind"] == "network"
    listed = client.get("/api/v1/assets/", {"kind": "network"}).json()
    assert listed["count"] == 1 and listed["items"][0]["tag"] == "NET-1"
    assert client.get(f"/api/v1/assets/{body['id']}").json()["name"] == "Core switch"


def test_bad_input_names_the_field(client_as, manager, org):
    AssetFactory(organization=org, tag="NET-1")
    client = client_as(manager)
    response = client.post("/api/v1/assets/", {"tag": "NET-1", "name": "x", "kind": "network"},
                           content_type="application/json")
    assert response.status_code == 400 and "tag" in response.json()["errors"]
    response = client.post("/api/v1/assets/", {"tag": "NET-2", "name": "x", "kind": "toaster", "colour": "red"},
                           content_type="application/json")
    assert response.status_code == 400 and {"kind", "colour"} <= set(response.json()["errors"])
    response = client.post("/api/v1/assets/", {"tag": "NET-3", "name": "x", "kind": "network", "location_id": 999999},
                           content_type="application/json")
    assert response.status_code == 400 and "location" in response.json()["errors"]
    assert Asset.objects.filter(organization=org).count() == 1


def test_open_and_move_a_ticket(client_as, manager, front_desk, org):
    asset = AssetFactory(organization=org)
    response = client_as(front_desk).post(f"/api/v1/assets/{asset.pk}/tickets", {"title": "No dial tone"},
                                          content_type="application/json")
    assert response.status_code == 201
    ticket_id = response.json()["id"]
    assert client_as(front_desk).post(f"/api/v1/assets/tickets/{ticket_id}/move", {"to_status": "in_progress"},
                                      content_type="application/json").status_code == 403
    client = client_as(manager)
    response = client.post(f"/api/v1/assets/tickets/{ticket_id}/move", {"to_status": "closed"},
                           content_type="application/json")
    assert response.status_code == 400 and "to_status" in response.json()["errors"]
    response = client_as(front_desk).post(f"/api/v1/assets/tickets/{ticket_id}/comments", {"body": " "},
                                          content_type="application/json")
    assert response.status_code == 400 and "body" in response.json()["errors"]
    response = client_as(front_desk).post(f"/api/v1/assets/tickets/{ticket_id}/comments", {"body": "Still dead"},
                                          content_type="application/json")
    assert response.status_code == 201 and response.json()["author"] == front_desk.username
    client = client_as(manager)
    response = client.post(f"/api/v1/assets/tickets/{ticket_id}/move", {"to_status": "resolved", "note": "Cable"},
                           content_type="application/json")
    assert response.json()["status"] == TicketStatus.RESOLVED
    detail = client.get(f"/api/v1/assets/tickets/{ticket_id}").json()
    assert [e["to_status"] for e in detail["timeline"]] == ["open", "", "resolved"]
    assert [t["id"] for t in client.get("/api/v1/assets/tickets", {"status": "resolved"}).json()] == [ticket_id]


def test_another_practices_ticket_is_not_found(client_as, manager, other_org):
    ticket = TicketFactory(asset__organization=other_org)
    assert client_as(manager).get(f"/api/v1/assets/tickets/{ticket.pk}").status_code == 404
