"""Router: static and parametric routes, 404, 405 with Allow, HEAD from GET."""

from __future__ import annotations

import pytest

from sws_http import Router


def h1(ctx: object) -> None: ...
def h2(ctx: object) -> None: ...
def h3(ctx: object) -> None: ...


@pytest.fixture
def router() -> Router:
    r = Router()
    r.add("/", ["GET"], h1)
    r.add("/users/{id}", ["GET", "PUT"], h2)
    r.add("/files/{rest:path}", ["GET"], h3)
    r.add("/users/{id}/posts/{post}", ["POST"], h1)
    return r


def test_static_route(router: Router) -> None:
    m = router.match("GET", "/")
    assert (m.handler, m.params, m.status) == (h1, {}, 200)


def test_parameters(router: Router) -> None:
    m = router.match("PUT", "/users/42")
    assert (m.handler, m.params) == (h2, {"id": "42"})
    m = router.match("POST", "/users/7/posts/x")
    assert m.params == {"id": "7", "post": "x"}


def test_path_tail_takes_the_rest(router: Router) -> None:
    assert router.match("GET", "/files/a/b/c.txt").params == {"rest": "a/b/c.txt"}
    assert router.match("GET", "/files/").params == {"rest": ""}


def test_head_falls_back_to_get(router: Router) -> None:
    assert router.match("HEAD", "/").handler is h1
    assert router.match("HEAD", "/users/1").handler is h2


def test_unknown_path_is_404(router: Router) -> None:
    assert router.match("GET", "/nope").status == 404
    assert router.match("GET", "/users").status == 404
    assert router.match("GET", "/users/").status == 404  # an empty segment is no id


def test_wrong_method_is_405_with_allow(router: Router) -> None:
    m = router.match("DELETE", "/users/1")
    assert (m.status, m.allow) == (405, ("GET", "HEAD", "PUT"))
    assert router.match("POST", "/").allow == ("GET", "HEAD")


@pytest.mark.parametrize(
    "pattern", ["nope", "/a/{x}/{x}", "/a/{rest:path}/b", "/a/{bad-name}", "/a/{x"]
)
def test_bad_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(ValueError, match="route"):
        Router().add(pattern, ["GET"], h1)


def test_bad_method_is_refused() -> None:
    with pytest.raises(ValueError, match="method"):
        Router().add("/", ["get"], h1)
