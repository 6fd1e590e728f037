using Stepcast.HangfireBaseline;

// The load harness's baseline: the restaurant scenario as a .NET team would write it with Hangfire on PostgreSQL.
var builder = WebApplication.CreateBuilder(args);
builder.Services.AddHangfireBaseline(builder.Configuration);
builder.Logging.AddFilter("Hangfire", LogLevel.Warning);

var app = builder.Build();
app.MapLineWebhook();
app.MapEnrollments();
app.Run();
