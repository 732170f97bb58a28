# gallery: mixed precision on the CPU: the forward pass under torch.autocast("cpu", dtype=torch.bfloat16), an MLP trained by AdamW
# steps: 60
# layers: net.0 (Linear 32→128), net.2 (Linear 128→64), net.4 (Linear 64→5)
# raises: none
import torch
from torch import nn

torch.manual_seed(19)
x = torch.randn(1024, 32)
y = (x[:, :5] + 0.3 * x[:, 5:10]).argmax(1)
net = nn.Sequential(nn.Linear(32, 128), nn.GELU(), nn.Linear(128, 64), nn.GELU(), nn.Linear(64, 5))
optimizer = torch.optim.AdamW(net.parameters(), lr=2e-3)
for step in range(60):
    i = (step * 64) % 1024
    optimizer.zero_grad()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = net(x[i:i + 64])
    loss = nn.functional.cross_entropy(logits.float(), y[i:i + 64])
    loss.backward()
    optimizer.step()
print("loss", loss.item())
