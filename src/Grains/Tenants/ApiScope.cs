using System.Text.Json.Serialization;

namespace Stepcast.Grains.Tenants;

/// <summary>
/// What an API key may do. <c>read</c>: every GET. <c>write</c>: change configuration (channels, scenarios, ID
/// links, friends' attributes and tags, API keys). <c>send</c>: cause messages (events, test deliveries,
/// enrolments). Scopes are independent: a key that writes and reads holds both.
/// </summary>
[Flags]
[JsonConverter(typeof(JsonStringEnumConverter<ApiScope>))]
public enum ApiScope
{
    None = 0,
    Read = 1,
    Write = 2,
    Send = 4,
}

public static class ApiScopes
{
    public const string Read = "read";
    public const string Write = "write";
    public const string Send = "send";

    public static IReadOnlyList<string> All { get; } = [Read, Write, Send];

    public static bool TryParse(string name, out ApiScope scope)
    {
        scope = name switch
        {
            Read => ApiScope.Read,
            Write => ApiScope.Write,
            Send => ApiScope.Send,
            _ => ApiScope.None,
        };
        return scope != ApiScope.None;
    }

    public static string[] Names(ApiScope scopes) =>
        [.. All.Where(name => TryParse(name, out var scope) && scopes.HasFlag(scope))];
}
