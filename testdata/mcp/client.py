"""Drives `guard mcp` with the official MCP Python SDK (`pip install mcp`), as an MCP client
would. Prints one JSON object per step on stdout; after the plan it waits for a line on stdin
(the test approves the plan through a real terminal meanwhile) and then applies it.

usage: client.py GUARD TERRAFORM_DIR
"""

import asyncio
import json
import os
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


def field(obj, *names):
    for n in names:
        if hasattr(obj, n):
            return getattr(obj, n)
    return None


def text(result):
    return "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")


def say(step, **data):
    print(json.dumps({"step": step, **data}), flush=True)


async def call(session, name, args):
    result = await session.call_tool(name, args)
    blocks = [c.text for c in result.content if getattr(c, "type", "") == "text"]
    return {"is_error": bool(field(result, "is_error", "isError")), "text": text(result), "blocks": blocks}


async def main():
    guard, tf_dir = sys.argv[1], sys.argv[2]
    params = StdioServerParameters(command=guard, args=["mcp"], env=dict(os.environ), cwd=tf_dir)
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            info = field(init, "server_info", "serverInfo")
            say("initialize", server=info.name, protocol=str(field(init, "protocol_version", "protocolVersion")))
            tools = await session.list_tools()
            say("tools", names=[t.name for t in tools.tools])
            say("blocked", **await call(session, "shell", {"line": "rm -rf /"}))
            say("allowed", **await call(session, "shell", {"line": "echo hello from mcp", "cwd": tf_dir}))
            escalated = await call(session, "kubectl", {"args": ["delete", "pod", "web", "-n", "shop"]})
            say("escalated", **escalated)
            request_id = escalated["text"].split("guard approve ", 1)[-1][:34]
            say("request-status", **await call(session, "request_status", {"id": request_id}))
            say("explain", **await call(session, "explain", {"tool": "shell", "line": "rm -rf /"}))
            say("bad", **await call(session, "terraform_apply", {"plan_id": "-auto-approve"}))
            plan = await call(session, "terraform_plan", {"dir": tf_dir})
            say("plan", **plan)
            plan_id = json.loads(plan["blocks"][0])["id"] if not plan["is_error"] else ""
            say("apply-before-approval", **await call(session, "terraform_apply", {"plan_id": plan_id}))
            sys.stdin.readline()
            say("apply", **await call(session, "terraform_apply", {"plan_id": plan_id}))
            say("reapply", **await call(session, "terraform_apply", {"plan_id": plan_id}))
            say("status", **await call(session, "request_status", {"id": plan_id}))


asyncio.run(main())
