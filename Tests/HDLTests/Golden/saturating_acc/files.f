saturating_acc.v
