using System.Runtime.CompilerServices;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Stepcast.Grains.Scenarios;

/// <summary>
/// Fills <c>{name}</c> placeholders (name = letters, digits, '_' or '.') in the string values of a LINE message,
/// e.g. <c>{displayName}</c> or a custom field. Property names are never touched, and the message is rewritten
/// through a JSON writer so a value containing quotes or newlines keeps the JSON valid.
/// </summary>
public static partial class MessagePersonalizer
{
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        // LINE reads UTF-8; escaping Japanese as \uXXXX would only make payloads larger and logs unreadable.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>
    /// Asked of a scenario's messages on every send (whether it may go by multicast, whether to render it), while the
    /// catalogue hands every friend the same definition: the answer is kept with the message instance for as long as it
    /// lives, instead of parsing its JSON each time (a parse per send in a profile of the ingest path).
    /// </summary>
    private static readonly ConditionalWeakTable<LineMessage, object> Personalized = new();
    private static readonly object Yes = new();
    private static readonly object No = new();

    /// <summary>
    /// Replaces each placeholder whose name is in <paramref name="values"/>; others stay as written, so a typo shows
    /// up in the sent text rather than silently vanishing. Returns the same instance when nothing changed.
    /// </summary>
    public static LineMessage Render(LineMessage message, IReadOnlyDictionary<string, string> values)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0 || !IsPersonalized(message))
        {
            return message;
        }

        using var document = JsonDocument.Parse(message.Json);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            Write(document.RootElement, writer, values);
        }

        return new LineMessage(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
    }

    /// <summary>Whether any string value holds a placeholder, i.e. whether the message differs per friend.</summary>
    public static bool IsPersonalized(LineMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return ReferenceEquals(Personalized.GetValue(message, static m => FindPlaceholder(m) ? Yes : No), Yes);
    }

    private static bool FindPlaceholder(LineMessage message)
    {
        using var document = JsonDocument.Parse(message.Json);
        return HasPlaceholder(document.RootElement);
    }

    [GeneratedRegex(@"\{([A-Za-z0-9_.]+)\}", RegexOptions.CultureInvariant)]
    private static partial Regex Placeholder();

    private static void Write(JsonElement element, Utf8JsonWriter writer, IReadOnlyDictionary<string, string> values)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                writer.WriteStartObject();
                foreach (var property in element.EnumerateObject())
                {
                    writer.WritePropertyName(property.Name);
                    Write(property.Value, writer, values);
                }

                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                foreach (var item in element.EnumerateArray())
                {
                    Write(item, writer, values);
                }

                writer.WriteEndArray();
                break;
            case JsonValueKind.String:
                writer.WriteStringValue(Fill(element.GetString()!, values));
                break;
            default:
                // Numbers and literals are copied as written, so 1.50 stays 1.50.
                element.WriteTo(writer);
                break;
        }
    }

    // One regex pass: a value that itself contains "{x}" is inserted literally, never expanded again.
    private static string Fill(string text, IReadOnlyDictionary<string, string> values) =>
        Placeholder().Replace(text, match =>
            values.TryGetValue(match.Groups[1].Value, out var value) ? value : match.Value);

    private static bool HasPlaceholder(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => element.EnumerateObject().Any(property => HasPlaceholder(property.Value)),
        JsonValueKind.Array => element.EnumerateArray().Any(HasPlaceholder),
        JsonValueKind.String => Placeholder().IsMatch(element.GetString()!),
        _ => false,
    };
}
