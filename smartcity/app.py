"""create_app(settings): the one ASGI application serving every module's API and pages."""

from __future__ import annotations

import asyncio
import logging
import threading
from contextlib import asynccontextmanager
from typing import Annotated, Any

import xstatic.pkg.leaflet
from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from smartcity import (
    __version__,
    reactions,  # noqa: F401 - in-transaction reactions between modules
)
from smartcity.alerts import api as alerts_api
from smartcity.alerts import pages as alerts_pages
from smartcity.cases import api as cases_api
from smartcity.cases import pages as cases_pages
from smartcity.config import Settings, get_settings
from smartcity.core import apidocs
from smartcity.core.db import Database
from smartcity.core.deps import SessionDep
from smartcity.core.errors import Problem, install_error_handlers
from smartcity.core.middleware import BodyLimitMiddleware, SecurityHeadersMiddleware
from smartcity.core.web import STATIC_DIR, html_error, make_environment
from smartcity.hotline import api as hotline_api
from smartcity.hotline import open311
from smartcity.hotline import pages as hotline_pages
from smartcity.kpi import api as kpi_api
from smartcity.kpi import pages as kpi_pages
from smartcity.ops import api as ops_api
from smartcity.ops import pages as ops_pages
from smartcity.ops import relay as ops_relay
from smartcity.places import api as places_api
from smartcity.places import ogcapi
from smartcity.places import pages as places_pages
from smartcity.security import Principal, public
from smartcity.security import api as security_api
from smartcity.security import pages as security_pages
from smartcity.sensing import api as sensing_api
from smartcity.sensing import pages as sensing_pages
from smartcity.sensing.window import WindowCache
from smartcity.traffic import api as traffic_api
from smartcity.traffic import pages as traffic_pages
from smartcity.traffic import transit_api

# Every domain module contributes an API router and a pages router; order is navigation order.
MODULE_ROUTERS: list[APIRouter] = [
    security_api.router,
    security_pages.router,
    places_api.router,
    places_pages.router,
    ogcapi.router,
    cases_api.router,
    cases_pages.router,
    hotline_api.router,
    hotline_pages.router,
    open311.router,
    sensing_api.router,
    sensing_pages.api,
    sensing_pages.router,
    alerts_api.router,
    alerts_api.public_router,
    alerts_pages.router,
    traffic_api.router,
    transit_api.router,
    traffic_pages.router,
    kpi_api.router,
    kpi_pages.router,
    ops_api.router,
    ops_pages.router,
]

health = APIRouter(tags=["platform"])


@health.get("/healthz", summary="200 when the database answers")
def healthz(session: SessionDep, _: Annotated[Principal, public()]) -> Any:
    try:
        session.connection().exec_driver_sql("SELECT 1")
    except Exception as exc:
        raise Problem(503, "The database does not answer.", code="database-unavailable") from exc
    return JSONResponse({"status": "ok", "version": __version__})


def _warm_indexes(database: Database) -> None:
    """Build now what the first requests would otherwise wait for: the point → grid index, and the bus feed in
    force with its run-time model (parsing a city's feed and learning from its arrivals takes seconds)."""
    from smartcity.core.errors import NotFound
    from smartcity.places import index
    from smartcity.traffic import transit

    try:
        with database.session() as session:
            index.CACHE.get(session)
        with database.session() as session:
            transit.model(session)
    except NotFound:
        pass  # no bus feed imported: nothing to warm
    except Exception:  # cold caches are only slower; requests will build them and report any real fault
        logging.getLogger(__name__).exception("warming the indexes failed")


def _start_notifier(settings: Settings) -> Any:
    """SensorThings MQTT notifications from this process, when a broker is configured."""
    if not settings.mqtt_url:
        return None
    from smartcity.sensing.mqtt import Notifier

    notifier = Notifier(settings)
    try:
        notifier.start()
    except OSError:
        logging.getLogger(__name__).exception("MQTT broker unreachable: SensorThings notifications are off")
        return None
    return notifier


def _start_demo_feeds(database: Database) -> Any:
    """The demo city's sensor readings, written every minute (SMARTCITY_DEMO_FEEDS, set by `make demo`)."""
    from smartcity.sensing.simulate import DemoFeeds

    feeds = DemoFeeds(database)
    feeds.start()
    return feeds


class _Schedule(threading.Thread):
    """The alarm schedule and the traffic cycle inside the app process (SMARTCITY_RUN_SCHEDULE, set by `make demo`)."""

    def __init__(self, database: Database) -> None:
        super().__init__(name="alarm-schedule", daemon=True)
        self.database, self.stopping = database, threading.Event()

    def run(self) -> None:
        from smartcity.alerts.cli import run_once
        from smartcity.traffic.cli import run_once as traffic_cycle

        while not self.stopping.wait(30):
            try:
                run_once(self.database)
                traffic_cycle(self.database, demo=self.database.settings.demo_feeds)
            except Exception:
                logging.getLogger(__name__).exception("the schedule failed; it runs again in 30 s")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    database = Database(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):  # type: ignore[no-untyped-def]
        if settings.env != "test":  # build the point→grid index now rather than on the first request
            threading.Thread(target=_warm_indexes, args=(database,), name="warm-indexes", daemon=True).start()
        notifier = _start_notifier(settings)
        _app.state.session_gate = asyncio.Semaphore(database.request_slots)  # see core.deps._take_turn
        relay = _app.state.relay = ops_relay.start(settings.database_url)  # other processes' changes, live
        feeds = _start_demo_feeds(database) if settings.demo_feeds else None
        schedule = _Schedule(database) if settings.run_schedule else None
        if schedule is not None:
            schedule.start()
        yield
        if schedule is not None:
            schedule.stopping.set()
        if feeds is not None:
            feeds.stop()
        if notifier is not None:
            notifier.stop()
        if relay is not None:
            relay.stop()
        database.dispose()

    app = FastAPI(
        title="Smart city platform",
        version=__version__,
        lifespan=lifespan,
        description="Grid management, citizen hotline, city sensing, early warning and smart transport.",
        docs_url=None,
        redoc_url=None,
    )
    app.openapi = lambda: apidocs.openapi_with_security(app)  # type: ignore[method-assign]
    app.state.settings = settings
    app.state.database = database
    app.state.sta_window_cache = WindowCache(settings.sta_read_cache_mb * 2**20)  # see sensing/window.py
    app.state.templates = make_environment()
    install_error_handlers(app, html_renderer=html_error)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(
        BodyLimitMiddleware,
        limit=settings.max_body_bytes,
        upload_limit=settings.max_photo_bytes,
        large_paths={
            "/sta/v1.1/CreateObservations": settings.sta_max_batch_bytes,
            "/api/transit/feeds": settings.gtfs_max_feed_bytes,
            "/gtfs-rt/vehicle-positions": settings.gtfs_rt_max_bytes,
            "/api/traffic/probes": settings.sta_max_batch_bytes,
        },
    )
    # The longer prefix first: Starlette takes the first mount that matches.
    app.mount(apidocs.ASSETS_URL, StaticFiles(directory=apidocs.ASSETS), name="api_docs_assets")
    app.mount("/static/leaflet", StaticFiles(directory=xstatic.pkg.leaflet.BASE_DIR), name="leaflet")
    app.mount("/static/places", StaticFiles(directory=places_pages.STATIC_DIR), name="places_static")
    app.mount("/static/cases", StaticFiles(directory=cases_pages.STATIC_DIR), name="cases_static")
    app.mount("/static/hotline", StaticFiles(directory=hotline_pages.STATIC_DIR), name="hotline_static")
    app.mount("/static/sensing", StaticFiles(directory=sensing_pages.STATIC_DIR), name="sensing_static")
    app.mount("/static/alerts", StaticFiles(directory=alerts_pages.STATIC_DIR), name="alerts_static")
    app.mount("/static/traffic", StaticFiles(directory=traffic_pages.STATIC_DIR), name="traffic_static")
    app.mount("/static/kpi", StaticFiles(directory=kpi_pages.STATIC_DIR), name="kpi_static")
    app.mount("/static/ops", StaticFiles(directory=ops_pages.STATIC_DIR), name="ops_static")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(health)
    app.include_router(apidocs.router)
    for router in MODULE_ROUTERS:
        app.include_router(router)
    return app
