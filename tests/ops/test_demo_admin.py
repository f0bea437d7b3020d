from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db


def _run(**env: str) -> str:
    out = StringIO()
    call_command("ensure_demo_admin", stdout=out)
    return out.getvalue()


def test_creates_admin_and_one_user_per_role(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEMO_ADMIN_PASSWORD", raising=False)
    monkeypatch.delenv("DEMO_USER_PASSWORD", raising=False)
    out = _run()
    assert "http://127.0.0.1:8000/admin/" in out
    assert "admin / admin12345" in out
    users = get_user_model().objects
    admin = users.get(username="admin")
    assert admin.is_superuser and admin.is_staff and admin.check_password("admin12345")
    roles = {
        "teller": "柜员",
        "reviewer": "复核员",
        "finance": "财务",
        "auditor": "审计",
    }
    for username, group in roles.items():
        user = users.get(username=username)
        assert user.is_staff and not user.is_superuser
        assert list(user.groups.values_list("name", flat=True)) == [group]
        assert user.check_password("demo12345")
        assert f"{group}: {username} / demo12345" in out
    client = Client()
    assert client.login(username="teller", password="demo12345")
    assert client.get("/admin/").status_code == 200


def test_rerun_resets_passwords_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _run()
    monkeypatch.setenv("DEMO_ADMIN_PASSWORD", "another-Secret-1")
    out = _run()
    users = get_user_model().objects
    assert users.filter(username="admin").count() == 1
    assert users.get(username="admin").check_password("another-Secret-1")
    assert "admin / another-Secret-1" in out


@override_settings(FUND_ENV="production")
def test_refused_in_production() -> None:
    with pytest.raises(CommandError) as err:
        _run()
    assert str(err.value) == "生产环境中从不创建演示账号。"
    assert not get_user_model().objects.filter(username="admin").exists()
