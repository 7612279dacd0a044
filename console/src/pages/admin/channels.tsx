import { useState } from "preact/hooks";
import { type Channel, del, get, post, put, request } from "../../api";
import {
  ask,
  Badge,
  Check,
  Dialog,
  ErrorText,
  errorText,
  Field,
  formFields,
  Loading,
  label,
  PageHead,
  STATUS,
  Table,
  useAction,
  useLoad,
} from "../../components/ui";
import { t } from "../../i18n";

const TYPES = ["openai", "azure", "azure-speech", "anthropic", "bedrock"] as const;

/** A JSON object typed into a textarea; `{}` when empty, null when it is not an object. */
function jsonObject(text: string): Record<string, string> | null {
  if (!text.trim()) return {};
  try {
    const value = JSON.parse(text);
    return value && typeof value === "object" && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

function json(value: Record<string, string> | null | undefined): string {
  return value && Object.keys(value).length ? JSON.stringify(value, null, 2) : "";
}

const MODEL_HEALTH = {
  cooling: "channel_health_cooling",
  open: "channel_health_open",
  half_open: "channel_health_half_open",
  disabled: "channel_health_disabled",
} as const;

/** The models of a channel that are cooling down, failing or off, with why. */
function ModelHealthList(props: { channel: Channel }) {
  const models = Object.entries(props.channel.health?.models ?? {});
  return (
    <>
      {models.map(([model, health]) => (
        <small key={model} class={`block ${health.state === "healthy" ? "muted" : "error-text"}`}>
          {model}:{" "}
          {health.state === "healthy"
            ? t("channel_health_healthy", { failures: health.failures })
            : t(MODEL_HEALTH[health.state])}
          {health.reason && health.state !== "healthy" ? ` (${health.reason})` : ""}
        </small>
      ))}
    </>
  );
}

function ChannelForm(props: { current?: Channel; onDone(saved: boolean): void }) {
  const { current } = props;
  const action = useAction();
  // Bedrock's endpoint follows from its region, and without a key it signs with the role.
  const [type, setType] = useState(current?.type ?? TYPES[0]);
  const bedrock = type === "bedrock";
  const [useRole, setUseRole] = useState(false);
  return (
    <form
      onSubmit={(e) => {
        const f = formFields(e);
        const mapping = jsonObject(f.model_mapping ?? "");
        if (!mapping) return action.setError(t("channel_mapping_invalid"));
        const config = jsonObject(f.config ?? "");
        if (!config) return action.setError(t("channel_config_invalid"));
        const body: Record<string, unknown> = {
          type: f.type,
          name: f.name,
          base_url: f.base_url,
          models: (f.models ?? "")
            .split(",")
            .map((m) => m.trim())
            .filter(Boolean),
          model_mapping: mapping,
          priority: Number(f.priority || 0),
          weight: Number(f.weight || 1),
          config,
        };
        if (f.key) body.key = f.key;
        // An empty key field keeps the key; clearing it (back to the role) is said outright.
        else if (bedrock && useRole) body.key = "";
        action.run(async () => {
          if (current) await put(`/api/channel/${current.id}`, body);
          else await post("/api/channel/", body);
          props.onDone(true);
        });
      }}
    >
      <div class="grid2">
        <Field label={t("channel_type")}>
          <select name="type" onChange={(e) => setType(e.currentTarget.value)}>
            {TYPES.map((type) => (
              <option key={type} value={type} selected={current?.type === type}>
                {type}
              </option>
            ))}
          </select>
        </Field>
        <Field label={t("channel_name")}>
          <input name="name" required maxLength={128} defaultValue={current?.name} />
        </Field>
      </div>
      <Field
        label={t("channel_base_url")}
        hint={t(bedrock ? "channel_bedrock_base_url_hint" : "channel_base_url_hint")}
      >
        <input name="base_url" type="url" required={!bedrock} defaultValue={current?.base_url} />
      </Field>
      <Field
        label={t("channel_key")}
        hint={
          current
            ? t("channel_key_keep", { masked: current.key || "—" })
            : bedrock
              ? t("channel_bedrock_key_hint")
              : undefined
        }
      >
        <input
          name="key"
          required={!current && !bedrock}
          disabled={useRole}
          autoComplete="off"
          class="mono"
        />
      </Field>
      {bedrock && current?.key && (
        <Check label={t("channel_bedrock_use_role")} checked={useRole} onChange={setUseRole} />
      )}
      <Field label={t("channel_models")} hint={t("channel_models_hint")}>
        <input name="models" required defaultValue={current?.models.join(", ")} />
      </Field>
      <div class="grid2">
        <Field label={t("channel_priority")} hint={t("channel_priority_hint")}>
          <input
            name="priority"
            type="number"
            step="1"
            defaultValue={String(current?.priority ?? 0)}
          />
        </Field>
        <Field label={t("channel_weight")} hint={t("channel_weight_hint")}>
          <input
            name="weight"
            type="number"
            min="0"
            step="any"
            defaultValue={String(current?.weight ?? 1)}
          />
        </Field>
      </div>
      <Field label={t("channel_mapping")} hint={t("channel_mapping_hint")}>
        <textarea
          name="model_mapping"
          rows={3}
          class="mono"
          defaultValue={json(current?.model_mapping)}
        />
      </Field>
      <Field
        label={t("channel_config")}
        hint={t(bedrock ? "channel_bedrock_config_hint" : "channel_config_hint")}
      >
        <textarea name="config" rows={3} class="mono" defaultValue={json(current?.config)} />
      </Field>
      <ErrorText error={action.error} />
      <div class="buttons">
        <button type="button" onClick={() => props.onDone(false)}>
          {t("cancel")}
        </button>
        <button type="submit" class="primary" disabled={action.busy}>
          {current ? t("save") : t("channel_add")}
        </button>
      </div>
    </form>
  );
}

interface TestAnswer {
  ok?: boolean;
  latency_ms?: number;
  message?: string;
  status?: number;
}

export function Channels() {
  const channels = useLoad(() => get<Channel[]>("/api/channel/", { size: 100 }), []);
  const [editing, setEditing] = useState<Channel | "new" | null>(null);
  const [tests, setTests] = useState<Record<string, { ok: boolean; text: string }>>({});
  const rowAction = useAction();
  const list = channels.data?.data ?? [];

  const test = async (channel: Channel) => {
    setTests((s) => ({ ...s, [channel.id]: { ok: true, text: t("channel_testing") } }));
    let result: { ok: boolean; text: string };
    try {
      // The test answers 200 either way; `success` (or data.ok) says whether the call worked.
      const answer = await request<TestAnswer>("POST", `/api/channel/${channel.id}/test`, {});
      const ok = answer.data?.ok ?? answer.success;
      const latency = answer.data?.latency_ms ?? 0;
      const message = answer.data?.message || answer.message;
      result = {
        ok,
        text: ok
          ? t("channel_test_ok", { ms: latency })
          : t("channel_test_failed", { message: message || "" }),
      };
    } catch (err) {
      result = { ok: false, text: t("channel_test_failed", { message: errorText(err) }) };
    }
    setTests((s) => ({ ...s, [channel.id]: result }));
  };

  const setStatus = (channel: Channel, status: "enabled" | "disabled") =>
    rowAction.run(async () => {
      await put(`/api/channel/${channel.id}`, { status });
      channels.reload();
    });

  const remove = async (channel: Channel) => {
    if (!(await ask(t("channel_delete_confirm", { name: channel.name })))) return;
    await rowAction.run(async () => {
      await del(`/api/channel/${channel.id}`);
      channels.reload();
    });
  };

  return (
    <>
      <PageHead title={t("nav_admin_channels")}>
        <button type="button" class="primary" onClick={() => setEditing("new")}>
          {t("channel_add")}
        </button>
      </PageHead>
      <Loading loaded={channels} />
      <ErrorText error={rowAction.error} />
      <Table
        testId="channels-table"
        empty={channels.data !== undefined && list.length === 0}
        head={[
          t("channel_name"),
          t("channel_type"),
          t("status"),
          t("channel_models"),
          t("channel_priority"),
          t("channel_weight"),
          t("channel_base_url"),
          t("channel_key"),
          t("actions"),
        ]}
      >
        {list.map((channel) => {
          const result = tests[channel.id];
          return (
            <tr key={channel.id}>
              <td class="name">
                {channel.name}
                <small class="muted block mono">{channel.id}</small>
              </td>
              <td>{channel.type}</td>
              <td class="wrap">
                <Badge value={channel.status} label={label(STATUS, channel.status)} />
                {channel.disabled_reason && (
                  <small class="block error-text">{channel.disabled_reason}</small>
                )}
              </td>
              <td class="wrap">
                {channel.models.join(", ")}
                <ModelHealthList channel={channel} />
              </td>
              <td class="num">{channel.priority}</td>
              <td class="num">{channel.weight}</td>
              <td class="wrap mono">{channel.base_url}</td>
              <td class="mono">{channel.key}</td>
              <td class="row-actions">
                <button type="button" onClick={() => test(channel)}>
                  {t("channel_test")}
                </button>
                <button type="button" onClick={() => setEditing(channel)}>
                  {t("edit")}
                </button>
                {channel.status === "disabled" ? (
                  <button type="button" onClick={() => setStatus(channel, "enabled")}>
                    {t("enable")}
                  </button>
                ) : (
                  <button type="button" onClick={() => setStatus(channel, "disabled")}>
                    {t("disable")}
                  </button>
                )}
                <button type="button" class="danger" onClick={() => remove(channel)}>
                  {t("delete")}
                </button>
                {result && (
                  <small class={`block ${result.ok ? "positive" : "error-text"}`} role="status">
                    {result.text}
                  </small>
                )}
              </td>
            </tr>
          );
        })}
      </Table>
      {editing && (
        <Dialog
          title={editing === "new" ? t("channel_add") : t("channel_edit")}
          onClose={() => setEditing(null)}
        >
          <ChannelForm
            current={editing === "new" ? undefined : editing}
            onDone={(saved) => {
              setEditing(null);
              if (saved) channels.reload();
            }}
          />
        </Dialog>
      )}
    </>
  );
}
