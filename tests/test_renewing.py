"""Renewals of a lease stop when the work ends, even when a renewal loses the cancellation
that was meant to stop it (as a Redis client call can on Python 3.11)."""

from __future__ import annotations

import asyncio

from peacewatch.renewing import renewing


async def test_renewals_stop_when_a_renewal_swallows_the_cancellation() -> None:
    calls = 0
    lost = False
    in_call = asyncio.Event()

    async def renew() -> bool:
        nonlocal calls, lost
        calls += 1
        in_call.set()
        try:
            await asyncio.sleep(0.05)
        except asyncio.CancelledError:
            if lost:
                raise
            lost = True  # lost once, as a client that turns it into a retried timeout loses it
        return True

    async def work() -> None:
        async with renewing(0.01, renew, "test-renewal"):
            await in_call.wait()  # leave while a renewal is under way

    task = asyncio.create_task(work())
    done, _ = await asyncio.wait({task}, timeout=5)
    assert task in done, "the renewals went on after the work ended"
    assert lost
    settled = calls
    await asyncio.sleep(0.1)
    assert calls == settled  # nothing renews after the block
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "test-renewal"]


async def test_renewals_run_while_the_work_runs_and_stop_once_the_lease_is_lost() -> None:
    answers = iter([True, True, False])
    calls = 0

    async def renew() -> bool:
        nonlocal calls
        calls += 1
        return next(answers)

    async with renewing(0.01, renew, "test-renewal"):
        await asyncio.sleep(0.3)
    assert calls == 3  # renewed twice, then told the lease is lost: no more calls


async def test_an_error_of_a_renewal_ends_the_renewals_not_the_work() -> None:
    calls = 0

    async def renew() -> bool:
        nonlocal calls
        calls += 1
        raise RuntimeError("boom")

    async with renewing(0.01, renew, "test-renewal"):
        await asyncio.sleep(0.1)
    assert calls == 1


async def test_a_cancelled_caller_is_cancelled_while_a_renewal_is_under_way() -> None:
    in_call = asyncio.Event()

    async def renew() -> bool:
        in_call.set()
        try:
            await asyncio.sleep(0.3)
        except asyncio.CancelledError:
            pass  # gives way slowly
        await asyncio.sleep(0.3)
        return True

    async def work() -> str:
        async with renewing(0.01, renew, "test-renewal"):
            await in_call.wait()  # the work ends while a renewal is under way
        return "finished"

    task = asyncio.create_task(work())
    await in_call.wait()
    await asyncio.sleep(0.05)  # the caller now waits for the renewal to give way
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=5)
    assert task in done and task.cancelled()
